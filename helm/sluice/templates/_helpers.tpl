{{/* Names and labels shared by every template. */}}
{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}{{ .Release.Name | trunc 50 | trimSuffix "-" }}{{- else -}}{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "sluice.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sluice.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sluice.image" -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}

{{/* Environment every sluice container gets: Kafka, registry, and SASL from a Secret. */}}
{{- define "sluice.commonEnv" -}}
- name: KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: SCHEMA_REGISTRY_URL
  value: {{ .Values.registry.url | quote }}
- name: SLUICE_KAFKA_REPLICATION_FACTOR
  value: {{ .Values.kafka.replicationFactor | quote }}
- name: SLUICE_KAFKA_SSL
  value: {{ .Values.kafka.ssl | quote }}
{{- if .Values.kafka.sasl.enabled }}
- name: SLUICE_KAFKA_SASL_MECHANISM
  value: {{ .Values.kafka.sasl.mechanism | quote }}
- name: SLUICE_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: { name: {{ .Values.kafka.sasl.existingSecret | quote }}, key: {{ .Values.kafka.sasl.usernameKey | quote }} }
- name: SLUICE_KAFKA_SASL_PASSWORD_FILE
  value: /etc/sluice/kafka-sasl/{{ .Values.kafka.sasl.passwordKey }}
{{- end }}
{{- with .Values.kafka.tls }}
{{- if .existingSecret }}
- name: SLUICE_KAFKA_TLS_CA
  value: /etc/sluice/kafka-tls/{{ .caKey }}
{{- if .certKey }}
- name: SLUICE_KAFKA_TLS_CERT
  value: /etc/sluice/kafka-tls/{{ .certKey }}
- name: SLUICE_KAFKA_TLS_KEY
  value: /etc/sluice/kafka-tls/{{ .keyKey }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Secrets mounted as files (never environment values), so sluice reads them at start. */}}
{{- define "sluice.secretMounts" -}}
{{- if .Values.kafka.sasl.enabled }}
- name: kafka-sasl
  mountPath: /etc/sluice/kafka-sasl
  readOnly: true
{{- end }}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  mountPath: /etc/sluice/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "sluice.secretVolumes" -}}
{{- if .Values.kafka.sasl.enabled }}
- name: kafka-sasl
  secret:
    secretName: {{ .Values.kafka.sasl.existingSecret }}
    items: [{ key: {{ .Values.kafka.sasl.passwordKey | quote }}, path: {{ .Values.kafka.sasl.passwordKey | quote }} }]
{{- end }}
{{- if .Values.kafka.tls.existingSecret }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
{{- end }}
{{- end -}}

{{/* Volumes every sluice pod mounts: the config and a writable /tmp (the root filesystem is read-only). */}}
{{- define "sluice.commonMounts" -}}
- name: config
  mountPath: /etc/sluice/sluice.yaml
  subPath: sluice.yaml
  readOnly: true
- name: tmp
  mountPath: /tmp
{{ include "sluice.secretMounts" . }}
{{- end -}}
