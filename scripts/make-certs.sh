#!/bin/sh
# Make the CA and the certificates of the worker link (tls+tcp://, mutual
# TLS; docs/scaling.md) with openssl. Keys are ECDSA P-256, unencrypted,
# mode 0600.
#
#   scripts/make-certs.sh [-d DIR] [-D DAYS] [-n NAMES] ca
#       DIR/ca.crt, DIR/ca.key (kept if they exist: rotate leaves, not the CA)
#   scripts/make-certs.sh [-d DIR] [-D DAYS] -n NAMES frontend NAME
#       DIR/NAME.crt, DIR/NAME.key: serverAuth, subjectAltName = NAMES
#       (comma-separated DNS names: the host part of the workers' --connect)
#   scripts/make-certs.sh [-d DIR] [-D DAYS] worker NAME
#       DIR/NAME.crt, DIR/NAME.key: clientAuth
#   scripts/make-certs.sh [-d DIR] [-D DAYS] [-n NAMES] all
#       ca, frontend "frontend" and worker "worker"; NAMES defaults to the
#       Kubernetes Service of kubernetes/ (mnist-frontend-workers...).
#
# DAYS defaults to 365 for leaves, 3650 for the CA; a negative DAYS makes an
# already expired certificate (tests). -p PURPOSE overrides the
# extendedKeyUsage (tests of a wrong-purpose certificate).
set -eu

dir=.
days=
names=
purpose=
while getopts d:D:n:p: opt; do
    case $opt in
    d) dir=$OPTARG ;;
    D) days=$OPTARG ;;
    n) names=$OPTARG ;;
    p) purpose=$OPTARG ;;
    *) sed -n '2,22p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,22p' "$0" >&2; exit 2; }
mkdir -p "$dir"
umask 077

k8s_names=mnist-frontend-workers,mnist-frontend-workers.mnist,mnist-frontend-workers.mnist.svc,mnist-frontend-workers.mnist.svc.cluster.local

make_ca() {
    if [ -s "$dir/ca.crt" ] && [ -s "$dir/ca.key" ]; then
        echo "make-certs: keeping $dir/ca.crt" >&2
        return 0
    fi
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca.key" -subj "/CN=mnist worker-link CA" -days "${days:-3650}" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$dir/ca.crt" 2>/dev/null
    echo "make-certs: $dir/ca.crt" >&2
}

# leaf NAME USAGE [SAN-LIST]
leaf() {
    [ -s "$dir/ca.crt" ] || { echo "make-certs: no $dir/ca.crt: run '$0 -d $dir ca' first" >&2; exit 1; }
    ext=$(mktemp)
    trap 'rm -f "$ext" "$dir/$1.csr"' EXIT
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=${purpose:-$2}"
        if [ -n "${3:-}" ]; then
            printf 'subjectAltName='
            echo "$3" | tr ',' '\n' | sed 's/^/DNS:/' | paste -sd, -
        fi
    } >"$ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/$1.key" -subj "/CN=$1" -out "$dir/$1.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days "${days:-365}" -extfile "$ext" -out "$dir/$1.crt" 2>/dev/null
    rm -f "$ext" "$dir/$1.csr"
    trap - EXIT
    echo "make-certs: $dir/$1.crt ($2), until $(openssl x509 -in "$dir/$1.crt" -noout -enddate | cut -d= -f2)" >&2
}

case $1 in
ca) make_ca ;;
frontend)
    [ $# -eq 2 ] && [ -n "$names" ] || { echo "make-certs: frontend NAME needs -n NAMES" >&2; exit 2; }
    leaf "$2" serverAuth "$names" ;;
worker)
    [ $# -eq 2 ] || { echo "make-certs: worker NAME" >&2; exit 2; }
    leaf "$2" clientAuth ;;
all)
    make_ca
    leaf frontend serverAuth "${names:-$k8s_names}"
    leaf worker clientAuth ;;
*) echo "make-certs: unknown command $1" >&2; exit 2 ;;
esac
