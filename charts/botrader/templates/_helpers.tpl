{{/* Names and labels (Kubernetes recommended labels) */}}
{{- define "botrader.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "botrader.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "botrader.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "botrader.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "botrader.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "botrader.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: botrader
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* selector labels; call with (dict "ctx" $ "component" "operator") */}}
{{- define "botrader.selectorLabels" -}}
app.kubernetes.io/name: {{ include "botrader.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "botrader.componentLabels" -}}
{{ include "botrader.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* image reference; call with (dict "ctx" $ "image" .Values.images.operator) */}}
{{- define "botrader.image" -}}
{{- printf "%s:%s" .image.repository (default .ctx.Chart.AppVersion .image.tag) }}
{{- end }}

{{- define "botrader.dbSecret" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "botrader.fullname" . }}-db{{ end }}
{{- end }}

{{- define "botrader.timescaledb" -}}
{{- include "botrader.fullname" . }}-timescaledb
{{- end }}

{{- define "botrader.mlflowUri" -}}
{{- if .Values.mlflow.enabled }}http://{{ include "botrader.fullname" . }}-mlflow:5000{{ else }}{{ .Values.mlflow.trackingUri }}{{ end }}
{{- end }}

{{/* env every Botrader container gets: the database URL from the Secret, MLflow when known */}}
{{- define "botrader.commonEnv" -}}
- name: BOTRADER_DB_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "botrader.dbSecret" . }}
      key: url
{{- with include "botrader.mlflowUri" . }}
- name: MLFLOW_TRACKING_URI
  value: {{ . | quote }}
{{- end }}
{{- end }}

{{- define "botrader.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end }}

{{- define "botrader.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end }}

{{- define "botrader.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* container command: `botrader ARGS`, or under watchfiles in development (restart on synced
     sources); call with (dict "ctx" $ "args" (list ...)) */}}
{{- define "botrader.command" -}}
{{- if .ctx.Values.dev.reload -}}
command: [watchfiles, --filter, python, {{ printf "botrader %s" (join " " .args) | quote }}, /opt/botrader/lib/python3.11/site-packages/botrader]
{{- else -}}
args: {{ toJson .args }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rules: DNS, and TCP to a list of ports; call with (dict "ports" (list …)) */}}
{{- define "botrader.egress.dns" }}
    - ports:
        - {port: 53, protocol: UDP}
        - {port: 53, protocol: TCP}
{{- end }}
{{- define "botrader.egress.ports" }}
    - ports:
      {{- range .ports }}
        - {port: {{ . }}, protocol: TCP}
      {{- end }}
{{- end }}
