{{/* Names. Kubernetes names are at most 63 characters: every name is cut there. */}}

{{- define "modelgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"<fullname>-<suffix>" within 63 characters: the fullname is shortened, never the suffix, so two
names never collapse into one. Usage: include "modelgate.suffixed" (list . "tls")
*/}}
{{- define "modelgate.suffixed" -}}
{{- $suffix := index . 1 -}}
{{- $base := include "modelgate.fullname" (index . 0) | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- printf "%s-%s" $base $suffix -}}
{{- end -}}

{{- define "modelgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "modelgate.serviceAccountName" -}}
{{- include "modelgate.fullname" . -}}
{{- end -}}

{{- define "modelgate.serviceName" -}}
{{- include "modelgate.fullname" . -}}
{{- end -}}

{{/* The ValidatingWebhookConfiguration's name: the self-managed TLS mode patches it by name. */}}
{{- define "modelgate.webhookConfigName" -}}
{{- include "modelgate.fullname" . -}}
{{- end -}}

{{- define "modelgate.policyConfigMapName" -}}
{{- if .Values.policy.existingConfigMap -}}
{{- .Values.policy.existingConfigMap -}}
{{- else -}}
{{- include "modelgate.suffixed" (list . "policy") -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the serving certificate, whichever TLS mode makes it. */}}
{{- define "modelgate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "existingSecret" -}}
{{- .Values.tls.existingSecret.name -}}
{{- else if and (eq .Values.tls.mode "selfManaged") .Values.tls.selfManaged.secretName -}}
{{- .Values.tls.selfManaged.secretName -}}
{{- else -}}
{{- include "modelgate.suffixed" (list . "tls") -}}
{{- end -}}
{{- end -}}

{{- define "modelgate.certificateName" -}}
{{- include "modelgate.suffixed" (list . "serving") -}}
{{- end -}}

{{/* Labels. */}}

{{- define "modelgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "modelgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "modelgate.labels" -}}
helm.sh/chart: {{ include "modelgate.chart" . }}
{{ include "modelgate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: admission-webhook
app.kubernetes.io/part-of: modelgate
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Label keys the chart sets itself: commonLabels and podLabels may not redefine them. */}}
{{- define "modelgate.ownLabelKeys" -}}
{{- list "helm.sh/chart" "app.kubernetes.io/name" "app.kubernetes.io/instance" "app.kubernetes.io/version" "app.kubernetes.io/component" "app.kubernetes.io/part-of" "app.kubernetes.io/managed-by" | toJson -}}
{{- end -}}

{{/* serve flags the chart passes from its values: extraArgs may not repeat them. */}}
{{- define "modelgate.managedFlags" -}}
{{- list "--port" "--keys-dir" "--policy" "--failure-mode" "--deadline-ms" "--log-level" "--tls-self-managed" "--tls-secret" "--namespace" "--service-name" "--webhook-config" "--webhook-failure-policy" "--tls-cert" "--tls-key" "--client-ca" "--metrics-port" | toJson -}}
{{- end -}}

{{- define "modelgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Namespaces the webhook never sees: the control plane's own, the webhook's own namespace (so
that its pods can always start, even while no webhook answers) and the operator's list.
*/}}
{{- define "modelgate.excludedNamespaces" -}}
{{- $always := list "kube-system" "kube-node-lease" .Release.Namespace -}}
{{- concat $always .Values.webhook.excludeNamespaces | uniq | toYaml -}}
{{- end -}}

{{/* The caBundle as the API wants it (base64 of PEM); PEM input is encoded here. */}}
{{- define "modelgate.caBundle" -}}
{{- $ca := trim .Values.webhook.caBundle -}}
{{- if hasPrefix "-----BEGIN" $ca -}}
{{- printf "%s\n" $ca | b64enc -}}
{{- else -}}
{{- $ca | nospace -}}
{{- end -}}
{{- end -}}

{{- define "modelgate.hasCAInjection" -}}
{{- range $k, $v := .Values.webhook.annotations -}}
{{- if hasPrefix "cert-manager.io/inject-ca-from" $k -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Bad combinations fail here, at render time, each with a message that says what to change.
Included once, from validate.yaml.
*/}}
{{- define "modelgate.validate" -}}
{{- $v := .Values -}}
{{- if has .Release.Namespace (list "kube-system" "kube-node-lease" "kube-public") -}}
{{- fail (printf "modelgate: do not install into %s: the webhook's own namespace is excluded from checking, and the control plane's namespaces must stay out of a webhook's path; use a dedicated namespace (e.g. --namespace modelgate --create-namespace)" .Release.Namespace) -}}
{{- end -}}
{{- if $v.deployment.enabled -}}
{{- if not $v.keys.existingSecret -}}
{{- fail "modelgate: keys.existingSecret is required: create a Secret with the signing keys (kubectl create secret generic modelgate-keys --from-file=ci-2026=./key) and pass --set keys.existingSecret=modelgate-keys; keys are never chart values" -}}
{{- end -}}
{{- if $v.webhook.url -}}
{{- fail "modelgate: webhook.url points the API server at a webhook outside the cluster; set deployment.enabled=false with it (or leave webhook.url empty to use the in-cluster Service)" -}}
{{- end -}}
{{- if and (eq $v.tls.mode "existingSecret") (not $v.tls.existingSecret.name) -}}
{{- fail "modelgate: tls.mode=existingSecret needs tls.existingSecret.name (a kubernetes.io/tls Secret in the release namespace)" -}}
{{- end -}}
{{- else -}}
{{- if not $v.webhook.url -}}
{{- fail "modelgate: deployment.enabled=false is the out-of-cluster mode: set webhook.url (https://HOST:PORT/validate) to where the webhook runs" -}}
{{- end -}}
{{- if eq $v.tls.mode "certManager" -}}
{{- fail "modelgate: tls.mode=certManager issues a certificate for the in-cluster Service; with deployment.enabled=false use tls.mode=selfManaged or existingSecret and webhook.caBundle" -}}
{{- end -}}
{{- if $v.webhook.clientCA.existingSecret -}}
{{- fail "modelgate: webhook.clientCA.existingSecret is mounted into the in-cluster pods; out of the cluster pass --client-ca FILE to modelgate serve instead" -}}
{{- end -}}
{{- if $v.serviceMonitor.enabled -}}
{{- fail "modelgate: serviceMonitor.enabled needs the in-cluster Service (deployment.enabled=true)" -}}
{{- end -}}
{{- end -}}
{{- if $v.webhook.url -}}
{{- if not (hasPrefix "https://" $v.webhook.url) -}}
{{- fail (printf "modelgate: webhook.url must start with https:// (the API server only calls webhooks over TLS), got %q" $v.webhook.url) -}}
{{- end -}}
{{- if not $v.webhook.caBundle -}}
{{- fail "modelgate: webhook.url needs webhook.caBundle: the CA (PEM or base64 PEM) that signed the out-of-cluster webhook's certificate" -}}
{{- end -}}
{{- end -}}
{{- if and $v.deployment.enabled (eq $v.tls.mode "existingSecret") (not $v.webhook.caBundle) (not (include "modelgate.hasCAInjection" .)) -}}
{{- fail "modelgate: tls.mode=existingSecret needs webhook.caBundle (the CA that signed tls.existingSecret, PEM or base64 PEM) or a cert-manager.io/inject-ca-from-secret entry in webhook.annotations, or the API server cannot trust the webhook" -}}
{{- end -}}
{{- if $v.webhook.caBundle -}}
{{- if not (hasPrefix "-----BEGIN CERTIFICATE-----" (b64dec (include "modelgate.caBundle" .))) -}}
{{- fail "modelgate: webhook.caBundle must be a PEM certificate (-----BEGIN CERTIFICATE-----), raw or base64-encoded" -}}
{{- end -}}
{{- if contains "PRIVATE KEY" (b64dec (include "modelgate.caBundle" .)) -}}
{{- fail "modelgate: webhook.caBundle contains a PRIVATE KEY: give only the CA certificate" -}}
{{- end -}}
{{- end -}}
{{- if and $v.deployment.enabled (eq $v.tls.mode "certManager") -}}
{{- $cm := $v.tls.certManager -}}
{{- if and $cm.createSelfSignedIssuer $cm.issuerRef.name -}}
{{- fail "modelgate: tls.certManager: set either createSelfSignedIssuer=true or issuerRef.name, not both" -}}
{{- end -}}
{{- if not (or $cm.createSelfSignedIssuer $cm.issuerRef.name) -}}
{{- fail "modelgate: tls.mode=certManager needs an issuer: set tls.certManager.issuerRef.name (an existing Issuer/ClusterIssuer) or tls.certManager.createSelfSignedIssuer=true" -}}
{{- end -}}
{{- end -}}
{{- if ge (int $v.server.deadlineMs) (mul (int $v.webhook.timeoutSeconds) 1000) -}}
{{- fail (printf "modelgate: server.deadlineMs (%d) must be below webhook.timeoutSeconds (%d s), so the server answers by its failureMode before the API server times out" (int $v.server.deadlineMs) (int $v.webhook.timeoutSeconds)) -}}
{{- end -}}
{{- $own := include "modelgate.ownLabelKeys" . | fromJsonArray -}}
{{- range $k, $_ := merge (dict) $v.commonLabels $v.podLabels -}}
{{- if has $k $own -}}
{{- fail (printf "modelgate: commonLabels/podLabels may not set %s: the chart sets it (selectors and labels depend on it); use another key" $k) -}}
{{- end -}}
{{- end -}}
{{- $managed := include "modelgate.managedFlags" . | fromJsonArray -}}
{{- range $v.extraArgs -}}
{{- if has (regexReplaceAll "=.*$" (toString .) "") $managed -}}
{{- fail (printf "modelgate: extraArgs may not repeat %s: the chart passes it from its values; set the value instead (see values.yaml)" .) -}}
{{- end -}}
{{- end -}}
{{- if eq (int $v.metrics.port) (int $v.server.port) -}}
{{- fail "modelgate: metrics.port must differ from server.port (metrics have their own plain-HTTP listener)" -}}
{{- end -}}
{{- if ge (int $v.preStopSleepSeconds) (int $v.terminationGracePeriodSeconds) -}}
{{- fail "modelgate: terminationGracePeriodSeconds must exceed preStopSleepSeconds, leaving time for the server to drain in-flight requests" -}}
{{- end -}}
{{- end -}}
