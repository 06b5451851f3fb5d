package main

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// missingRequired walks the decoded object's type beside the raw document and reports every
// field that the type marks as required but the document leaves out. Kubernetes' Go types mark
// optional fields with `omitempty` (or a pointer); a field without either is required, except
// the status, which the server writes.
func missingRequired(raw map[string]any, object any) []string {
	var problems []string
	walk(reflect.TypeOf(object).Elem(), raw, "", &problems)
	sort.Strings(problems)
	return problems
}

func walk(t reflect.Type, value any, path string, problems *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		fields, isObject := value.(map[string]any)
		if !isObject {
			return
		}
		walkStruct(t, fields, path, problems)
	case reflect.Slice:
		items, isList := value.([]any)
		if !isList {
			return
		}
		for index, item := range items {
			walk(t.Elem(), item, fmt.Sprintf("%s[%d]", path, index), problems)
		}
	case reflect.Map:
		entries, isObject := value.(map[string]any)
		if !isObject {
			return
		}
		for key, entry := range entries {
			walk(t.Elem(), entry, fmt.Sprintf("%s[%s]", path, key), problems)
		}
	}
}

func walkStruct(t reflect.Type, fields map[string]any, path string, problems *[]string) {
	for index := 0; index < t.NumField(); index++ {
		field := t.Field(index)
		tag := field.Tag.Get("json")
		name, options, _ := strings.Cut(tag, ",")
		if tag == "-" || !field.IsExported() {
			continue
		}
		if strings.Contains(options, "inline") || (field.Anonymous && name == "") {
			walkStruct(field.Type, fields, path, problems)
			continue
		}
		if name == "" {
			name = field.Name
		}
		fieldPath := strings.TrimPrefix(path+"."+name, ".")
		value, present := fields[name]
		if !present {
			optional := strings.Contains(options, "omitempty") || strings.Contains(options, "omitzero") ||
				field.Type.Kind() == reflect.Pointer || name == "status"
			if !optional {
				*problems = append(*problems, fmt.Sprintf("missing required field %s", fieldPath))
			}
			continue
		}
		walk(field.Type, value, fieldPath, problems)
	}
}
