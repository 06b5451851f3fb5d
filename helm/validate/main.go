// Command validate checks Kubernetes manifests (a multi-document YAML stream on stdin, as
// `helm template` prints it) against the Kubernetes API's own Go types, offline: each document is
// decoded strictly into the type its apiVersion/kind names, so an unknown or misspelt field and a
// value of the wrong type fail, and a field the type requires (no `omitempty` in its JSON tag,
// the API's convention for required fields) that is absent fails. Kinds it does not know fail too,
// so a new template cannot slip past unchecked. Exit status 1 lists every problem found.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

func main() {
	problems, count, err := validateStream(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintf(os.Stderr, "validate: cannot read the manifests: %v\n", err)
		os.Exit(2)
	}
	for _, problem := range problems {
		fmt.Println(problem)
	}
	if len(problems) > 0 {
		fmt.Printf("%d problem(s) in %d manifest(s)\n", len(problems), count)
		os.Exit(1)
	}
	fmt.Printf("%d manifest(s) valid\n", count)
}

// validateStream returns one line per problem, naming the manifest ("Kind/name") it is in.
func validateStream(input io.Reader) (problems []string, count int, err error) {
	reader := yaml.NewYAMLReader(bufio.NewReader(input))
	for {
		document, readErr := reader.Read()
		if errors.Is(readErr, io.EOF) {
			return problems, count, nil
		}
		if readErr != nil {
			return nil, count, readErr
		}
		if len(bytes.TrimSpace(stripComments(document))) == 0 {
			continue
		}
		count++
		name, documentProblems := validateDocument(document)
		for _, problem := range documentProblems {
			problems = append(problems, fmt.Sprintf("%s: %s", name, problem))
		}
	}
}

func stripComments(document []byte) []byte {
	var kept [][]byte
	for _, line := range bytes.Split(document, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			kept = append(kept, line)
		}
	}
	return bytes.Join(kept, []byte("\n"))
}

func validateDocument(document []byte) (string, []string) {
	var header struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := sigsyaml.Unmarshal(document, &header); err != nil {
		return "(unparsable document)", []string{err.Error()}
	}
	name := fmt.Sprintf("%s/%s", header.Kind, header.Metadata.Name)
	newObject, known := knownKinds[header.APIVersion+" "+header.Kind]
	if !known {
		return name, []string{fmt.Sprintf("apiVersion %q kind %q is not one this validator knows (add it to kinds.go)", header.APIVersion, header.Kind)}
	}
	object := newObject()
	// UnmarshalStrict converts YAML to JSON and decodes with unknown fields and duplicate keys refused
	if err := sigsyaml.UnmarshalStrict(document, object); err != nil {
		return name, []string{strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: ")}
	}
	var raw map[string]any
	if err := sigsyaml.Unmarshal(document, &raw); err != nil {
		return name, []string{err.Error()}
	}
	return name, missingRequired(raw, object)
}
