#!/usr/bin/env bash
# Copies the third-party .proto files that onetime serves (health, reflection) out of the npm
# packages that ship them, so the schema comes from a versioned, locked source rather than a
# hand-kept copy. Run after upgrading grpc-health-check, @grpc/reflection or
# @bufbuild/protovalidate, then `npx buf generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=third_party/proto/grpc
mkdir -p "$dest/health/v1" "$dest/reflection/v1" "$dest/reflection/v1alpha"
cp node_modules/grpc-health-check/proto/health/v1/health.proto "$dest/health/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto "$dest/reflection/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto "$dest/reflection/v1alpha/"

# buf/validate/validate.proto (protovalidate rules, `(buf.validate.field)` etc.): no npm package
# ships the source, so print it from the descriptor @bufbuild/protovalidate embeds, then check that
# buf compiles it back to exactly that descriptor. Generated code does not get its own copy: it
# imports @bufbuild/protovalidate's validate_pb (rewrite_imports + exclude_paths in buf.gen.yaml).
validate_proto=third_party/proto/buf/validate/validate.proto
mkdir -p "$(dirname "$validate_proto")"
npx tsx scripts/print-validate-proto.ts > "$validate_proto.tmp"
mv "$validate_proto.tmp" "$validate_proto"
image="$(mktemp -t validate-image.XXXXXX)"
trap 'rm -f "$image"' EXIT
npx buf build --path "$validate_proto" --exclude-source-info -o "$image#format=binpb"
npx tsx scripts/print-validate-proto.ts --check "$image"

# google/rpc/error_details.proto (ErrorInfo, the detail that carries onetime's machine-readable
# reasons) and google/rpc/status.proto (the message grpc-status-details-bin carries, which a grpc-js
# caller decodes to reach those details; shipped in @onetime/proto). Taken from a pinned google-proto-files tarball, unpacked in a temp dir: the package
# is 88 MB and nothing else needs it, so it is not a dependency.
google_rpc=third_party/proto/google/rpc
mkdir -p "$google_rpc"
tarballs="$(mktemp -d -t google-proto-files.XXXXXX)"
(cd "$tarballs" && npm pack --silent google-proto-files@6.0.1 >/dev/null && tar -xzf google-proto-files-6.0.1.tgz)
cp "$tarballs/package/google/rpc/error_details.proto" "$tarballs/package/google/rpc/status.proto" "$google_rpc/"
rm -rf "$tarballs"
