#!/usr/bin/env bash
# Copies the third-party .proto files that onetime serves (health, reflection) out of the npm
# packages that ship them, so the schema comes from a versioned, locked source rather than a
# hand-kept copy. Run after upgrading grpc-health-check or @grpc/reflection, then `npx buf generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=third_party/proto/grpc
mkdir -p "$dest/health/v1" "$dest/reflection/v1" "$dest/reflection/v1alpha"
cp node_modules/grpc-health-check/proto/health/v1/health.proto "$dest/health/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto "$dest/reflection/v1/"
cp node_modules/@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto "$dest/reflection/v1alpha/"
