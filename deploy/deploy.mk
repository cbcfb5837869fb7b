# Container images and the compose tests (podman + docker-compose 1.29).
# Included by the top-level Makefile (`-include deploy/deploy.mk`), or:
#   make -f Makefile -f deploy/deploy.mk e2e-compose
#
#   make images        build the images (skipped when their inputs are unchanged)
#   make e2e-compose   images + tests/compose/run.sh (the seed's compose file
#                      unchanged, Faros, stop/kill/failure cases)
# Needs `scripts/install-deps.sh --containers` once. See docs/containers.md.

.PHONY: images e2e-compose

images: all
	deploy/build-images.sh all

# run.sh starts its own podman service, builds the images and cleans up
e2e-compose: all
	tests/compose/run.sh
