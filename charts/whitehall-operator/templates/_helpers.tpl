{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "whitehall-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the objects: the release name when it already holds the chart name,
else <release>-<chart>.
*/}}
{{- define "whitehall-operator.fullname" -}}
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

{{- define "whitehall-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "whitehall-operator.labels" -}}
helm.sh/chart: {{ include "whitehall-operator.chart" . }}
{{ include "whitehall-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: whitehall-operator
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Labels that select the manager Pods: stable across upgrades. A shard's (shards > 1:
the context carries shardName) have a component of their own, so no Deployment selects
another's Pods.
*/}}
{{- define "whitehall-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "whitehall-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager{{ with get . "shardName" }}-{{ . }}{{ end }}
{{- end }}

{{/* The name of a shard's objects: the full name, and -<shard> for a shard but the default. */}}
{{- define "whitehall-operator.shardFullname" -}}
{{- include "whitehall-operator.fullname" . }}{{ with get . "shardName" }}-{{ . }}{{ end }}
{{- end }}

{{/*
shardContexts: one context per Deployment, as a list of shard names under "shards";
"" is the default shard, then shard-1 .. shard-<shards-1>. Each template that renders
per Deployment ranges over it and merges the name in as shardName.
*/}}
{{- define "whitehall-operator.shardNames" -}}
{{- $names := list "" }}
{{- range $i := untilStep 1 (int .Values.shards) 1 }}
{{- $names = append $names (printf "shard-%d" $i) }}
{{- end }}
{{- toJson (dict "shards" $names) }}
{{- end }}

{{/* Selects every shard's manager Pods (or their metrics Services). */}}
{{- define "whitehall-operator.managersSelector" -}}
{{- if gt (int .Values.shards) 1 }}
matchLabels:
  app.kubernetes.io/name: {{ include "whitehall-operator.name" . }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values:
      {{- range (include "whitehall-operator.shardNames" . | fromJson).shards }}
      - manager{{ with . }}-{{ . }}{{ end }}
      {{- end }}
{{- else }}
matchLabels:
  {{- include "whitehall-operator.selectorLabels" . | nindent 2 }}
{{- end }}
{{- end }}

{{- define "whitehall-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "whitehall-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: digest if given, else the tag, which defaults to appVersion. */}}
{{- define "whitehall-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
Leader election is on when asked for, and always with more than one replica or shard
(a shard hands a namespace over only once the other's Lease says it stopped).
*/}}
{{- define "whitehall-operator.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) (gt (int .Values.shards) 1) }}true{{ end }}
{{- end }}

{{/*
grantableRoles joined for --grantable-roles. A privileged role (the manager's list:
admin, service, ResellerAdmin, in any casing) fails the render unless
allowPrivilegedGrantableRoles is set, as the manager refuses to start without
--allow-privileged-grantable-roles: the chart never renders what the manager refuses.
*/}}
{{- define "whitehall-operator.grantableRoles" -}}
{{- $privileged := list }}
{{- range .Values.grantableRoles }}
{{- if has (lower .) (list "admin" "service" "reselleradmin") }}
{{- $privileged = append $privileged . }}
{{- end }}
{{- end }}
{{- if and $privileged (not .Values.allowPrivilegedGrantableRoles) }}
{{- fail (printf "grantableRoles lists the privileged role(s) %s: every department could grant itself rights beyond its own project; remove them, or also set allowPrivilegedGrantableRoles=true if that is really meant" (join ", " $privileged)) }}
{{- end }}
{{- join "," .Values.grantableRoles }}
{{- end }}
