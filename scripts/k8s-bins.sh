#!/usr/bin/env bash
# Builds the local control plane from Go modules (no Docker, no prebuilt downloads):
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  from k8s.io/kubernetes
#   etcd                                                              from go.etcd.io/etcd/server/v3
#   helm                                                              with go install
# into ${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}/k8s-bins/<k8s>-etcd<etcd>/, skipping binaries
# already there, and links .bin/k8s in the repo to that folder.
# With KUBEBUILDER_ASSETS set (the envtest convention) the binaries there are used instead: this
# script only checks them.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hack="$root/hack/k8s-bins"
# shellcheck source=/dev/null
source "$hack/versions.env"

fail() { echo "k8s-bins: FAILED: $*" >&2; exit 1; }
say() { echo "k8s-bins: $*"; }

show_version() { # name path
  local out
  case "$1" in
    kubectl) out="$("$2" version --client 2>&1)" ;;
    etcd) out="$("$2" --version 2>&1)" ;;
    helm) out="$("$2" version --short 2>&1)" ;;
    *) out="$("$2" --version 2>&1)" ;;
  esac || fail "$1 at $2 does not run: $out"
  say "$1: ${out%%$'\n'*}"
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  say "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS: using the binaries there"
  for b in etcd kube-apiserver kubectl; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || fail "$b is missing from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    show_version "$b" "$KUBEBUILDER_ASSETS/$b"
  done
  for b in kube-controller-manager kube-scheduler helm; do
    if [[ -x "$KUBEBUILDER_ASSETS/$b" ]]; then show_version "$b" "$KUBEBUILDER_ASSETS/$b"; else say "$b: not in KUBEBUILDER_ASSETS (optional)"; fi
  done
  exit 0
fi

command -v go >/dev/null 2>&1 || fail "go is not installed; the control plane is built from Go modules (needs Go >= $(sed -n 's/^go //p' "$hack/kubernetes/go.mod"))"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

cache="${TCP_TUNING_CACHE:-$HOME/.cache/tcp-tuning}"
dir="$cache/k8s-bins/$KUBERNETES_VERSION-etcd$ETCD_VERSION"
mkdir -p "$dir"
# One build at a time per cache: two checkouts (or CI beside a developer) building the same binary
# into the same folder raced on its temporary file, and one of them failed.
exec 9>"$dir/.lock"
if ! flock -n 9; then
  say "another build holds $dir/.lock; waiting for it"
  flock 9
fi
say "go $(go env GOVERSION), output $dir"

k8s_major="${KUBERNETES_VERSION#v}"; k8s_major="${k8s_major%%.*}"
k8s_minor="${KUBERNETES_VERSION#v*.}"; k8s_minor="${k8s_minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=$k8s_major -X $pkg.gitMinor=$k8s_minor -X $pkg.gitTreeState=clean"
done

build() { # name module-dir package ldflags
  local name="$1" moddir="$2" pkg="$3" ldflags="$4" start
  if [[ -x "$dir/$name" ]]; then say "$name: cached"; return; fi
  say "building $name from $pkg"
  start=$SECONDS
  (cd "$moddir" && go build -trimpath -ldflags "$ldflags" -o "$dir/$name.tmp.$$" "$pkg") ||
    fail "could not build $name from $pkg (module $moddir; see the go output above)"
  mv "$dir/$name.tmp.$$" "$dir/$name"
  say "$name built in $((SECONDS - start)) s"
}

total=$SECONDS
build etcd "$hack/etcd" go.etcd.io/etcd/server/v3 "-s -w"
for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  build "$cmd" "$hack/kubernetes" "k8s.io/kubernetes/cmd/$cmd" "$k8s_ldflags"
done
if [[ -x "$dir/helm" ]]; then
  say "helm: cached"
else
  say "installing helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  start=$SECONDS
  (cd "$dir" && GOBIN="$dir" GOFLAGS= go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") || fail "could not go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  say "helm built in $((SECONDS - start)) s"
fi
say "all binaries ready in $((SECONDS - total)) s"

for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl helm; do
  show_version "$b" "$dir/$b"
done

mkdir -p "$root/.bin"
ln -sfn "$dir" "$root/.bin/k8s"
say "linked $root/.bin/k8s -> $dir"
