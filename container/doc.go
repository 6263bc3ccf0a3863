// Package container tests cinit where it is meant to run: as the entry
// point of a real container. It holds tests only.
//
// The tests build the image of examples/docker/scratch (FROM scratch: the
// static cinit, a static busybox for /bin/sh, a Procfile) and drive it with
// podman and the runc runtime, the way a user does: podman stop, wait,
// kill -s, run --init, run -it on a pseudo-terminal, healthcheck run. Each
// test's Procfile is bind-mounted into the container. compose_test.go runs
// what cinit export compose writes for examples/export/Procfile with
// podman-compose.
//
// They need root, podman, runc, catatonit and busybox-static, and run only
// when CINIT_CONTAINER_TESTS=1 (`make container-test`); elsewhere they
// skip. .ci/podman-setup installs and configures podman on a Debian
// machine. With CINIT_REQUIRE_TOOLS=1 a missing tool is a failure.
package container
