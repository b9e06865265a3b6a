{{/* Names: every object is prefixed with the release's full name (at most 63 - 12 characters). */}}
{{- define "ttp.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else if hasPrefix .Release.Name .Chart.Name -}}
{{- .Chart.Name -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ttp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tcp-tuning-operator
{{- end -}}

{{/* Selector labels of one component: include "ttp.selector" (list . "webhook") */}}
{{- define "ttp.selector" -}}
{{- $ctx := index . 0 -}}
app.kubernetes.io/name: {{ $ctx.Chart.Name }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "ttp.componentLabels" -}}
{{ include "ttp.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "ttp.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "ttp.webhookName" -}}{{ include "ttp.fullname" . }}-webhook{{- end -}}
{{- define "ttp.controllerName" -}}{{ include "ttp.fullname" . }}-controller{{- end -}}
{{- define "ttp.agentName" -}}{{ include "ttp.fullname" . }}-agent{{- end -}}
{{- define "ttp.webhookSecret" -}}
{{- if and (eq .Values.webhook.tls.mode "files") .Values.webhook.tls.files.secretName -}}
{{ .Values.webhook.tls.files.secretName }}
{{- else -}}
{{ include "ttp.webhookName" . }}-tls
{{- end -}}
{{- end -}}
{{/* The ValidatingWebhookConfiguration is cluster-scoped: include the namespace so two releases never collide. */}}
{{- define "ttp.webhookConfigName" -}}{{ include "ttp.fullname" . }}-{{ .Release.Namespace }}{{- end -}}

{{/* --default-placement nat=..,load-balancer=..,tcp-timestamps=.. (only the keys set) */}}
{{- define "ttp.defaultPlacement" -}}
{{- $p := list -}}
{{- with .Values.defaultPlacement.nat }}{{ $p = append $p (printf "nat=%s" .) }}{{ end -}}
{{- with .Values.defaultPlacement.loadBalancer }}{{ $p = append $p (printf "load-balancer=%s" .) }}{{ end -}}
{{- with .Values.defaultPlacement.tcpTimestamps }}{{ $p = append $p (printf "tcp-timestamps=%s" .) }}{{ end -}}
{{- join "," $p -}}
{{- end -}}

{{/* Restricted Pod Security profile, for the webhook and controller. */}}
{{- define "ttp.restrictedPodSecurity" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}
{{- define "ttp.restrictedContainerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{- define "ttp.podEnv" -}}
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
{{- end -}}

{{- define "ttp.topologySpread" -}}
{{- $ctx := index . 0 -}}{{- $c := index . 1 -}}{{- $name := index . 2 -}}
{{- if $c.topologySpread.enabled }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: {{ $c.topologySpread.topologyKey }}
    whenUnsatisfiable: {{ $c.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "ttp.selector" (list $ctx $name) | nindent 8 }}
{{- end }}
{{- end -}}
