# API documentation site (frontend/static.h), included by the top Makefile.
# $(B)/www holds openapi.json, the Swagger UI and ReDoc pages and their npm
# assets (scripts/fetch-docs-assets.sh: pinned versions, sha512-checked,
# tarballs cached in DOCS_CACHE so that `make asan` and rebuilds reuse them).
WWW        := $(B)/www
DOCS_CACHE ?= build/cache
WWW_SRC    := scripts/fetch-docs-assets.sh docs/openapi.json docs-assets/swagger.html \
              docs-assets/swagger-init.js docs-assets/redoc.html

all: $(WWW)/.stamp
$(WWW)/.stamp: $(WWW_SRC)
	@sh scripts/fetch-docs-assets.sh $(WWW) $(DOCS_CACHE)

# Unit tests of the frontend's metrics and static modules (owned with this
# fragment; the frontend links $(B)/obj/frontend/{metrics,static}.o).
TEST_BINS += $(B)/tests/t_metrics $(B)/tests/t_static
$(B)/tests/t_metrics: $(B)/obj/tests/t_metrics.o $(B)/obj/frontend/metrics.o $(COMMON_OBJS)
$(B)/tests/t_static: $(B)/obj/tests/t_static.o $(B)/obj/frontend/static.o $(COMMON_OBJS)
