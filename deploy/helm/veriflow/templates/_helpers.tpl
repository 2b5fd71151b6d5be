{{/* The chart's name. */}}
{{- define "veriflow.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the prefix of every object. */}}
{{- define "veriflow.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "veriflow.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "veriflow.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: veriflow
{{- end }}

{{- define "veriflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "veriflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The image reference. */}}
{{- define "veriflow.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if eq $tag "latest" }}{{ fail "image.tag: pin a version, not latest" }}{{ end }}
{{- if hasPrefix "sha256:" $tag }}
{{- printf "%s@%s" .Values.image.repository $tag }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret holding Veriflow's keys and credentials. */}}
{{- define "veriflow.secretName" -}}
{{- if and .Values.secrets.create .Values.secrets.existingSecret }}
{{- fail "secrets: set either create: true or existingSecret, not both" }}
{{- end }}
{{- default (include "veriflow.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The Secret and key holding DATABASE_URL. */}}
{{- define "veriflow.databaseURLEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (include "veriflow.secretName" .) .Values.postgresql.urlSecret.name }}
      key: {{ .Values.postgresql.urlSecret.key | default "DATABASE_URL" }}
{{- end }}

{{/*
Environment shared by api and worker: Temporal, Postgres, the three
required keys (secretKeyRef, so a missing key stops the pod at once),
logging, shutdown, the config file and the plain `env` values. The rest of
the Secret (provider credentials, the codec token) comes through envFrom.
*/}}
{{- define "veriflow.env" -}}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" .Values.temporal.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ required "temporal.namespace is required" .Values.temporal.namespace | quote }}
{{ include "veriflow.databaseURLEnv" . }}
{{- range $key := list "VERIFLOW_CODE_SECRET" "VERIFLOW_PAYLOAD_KEYS" "VERIFLOW_EVIDENCE_KEYS" }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ include "veriflow.secretName" $ }}
      key: {{ $key }}
{{- end }}
- name: VERIFLOW_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: VERIFLOW_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: VERIFLOW_SHUTDOWN_TIMEOUT
  value: {{ .Values.shutdownTimeout | quote }}
{{- if .Values.configFile }}
- name: VERIFLOW_CONFIG_FILE
  value: /etc/veriflow/config.json
{{- end }}
{{- range $k, $v := .Values.env }}
{{- if or (has $k (list "DATABASE_URL" "TEMPORAL_ADDRESS" "TEMPORAL_NAMESPACE" "VERIFLOW_HTTP_ADDR" "VERIFLOW_METRICS_ADDR" "VERIFLOW_CONFIG_FILE" "VERIFLOW_LOG_LEVEL" "VERIFLOW_LOG_FORMAT" "VERIFLOW_SHUTDOWN_TIMEOUT")) (regexMatch "SECRET|TOKEN|PASSWORD|_KEYS$" $k) }}
{{- fail (printf "env.%s: set it through its own value or the Secret, not env" $k) }}
{{- end }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end }}

{{/* envFrom: every key of the Veriflow Secret. */}}
{{- define "veriflow.envFrom" -}}
- secretRef:
    name: {{ include "veriflow.secretName" . }}
{{- end }}

{{/* The config file's volume and mount. */}}
{{- define "veriflow.configVolume" -}}
{{- if .Values.configFile }}
- name: config
  configMap:
    name: {{ include "veriflow.fullname" . }}-config
{{- end }}
{{- end }}
{{- define "veriflow.configMount" -}}
{{- if .Values.configFile }}
- name: config
  mountPath: /etc/veriflow
  readOnly: true
{{- end }}
{{- end }}

{{/* Pod annotations that roll the pods when the config or the chart's Secret changes. */}}
{{- define "veriflow.checksums" -}}
{{- if .Values.configFile }}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}
{{- if .Values.secrets.create }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/* An HPA (autoscaling/v2) for one component: (dict "root" $ "component" "api" "values" .Values.api). */}}
{{- define "veriflow.hpa" -}}
{{- $a := .values.autoscaling }}
{{- if $a.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "veriflow.fullname" .root }}-{{ .component }}
  labels:
    {{- include "veriflow.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "veriflow.fullname" .root }}-{{ .component }}
  minReplicas: {{ $a.minReplicas }}
  maxReplicas: {{ $a.maxReplicas }}
  metrics:
    {{- if $a.targetCPUUtilizationPercentage }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $a.targetCPUUtilizationPercentage }}
    {{- end }}
    {{- if $a.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ $a.targetMemoryUtilizationPercentage }}
    {{- end }}
{{- end }}
{{- end }}
