# The site the frontend serves (frontend/static.h), included by the top
# Makefile. $(B)/www holds the drawing page at / (index.html, app.js,
# style.css, favicon.svg: plain files, copied as they are), openapi.json,
# the Swagger UI and ReDoc pages and their npm assets
# (scripts/fetch-docs-assets.sh: pinned versions, sha512-checked, tarballs
# cached in DOCS_CACHE so that `make asan` and rebuilds reuse them).
WWW        := $(B)/www
DOCS_CACHE ?= build/cache
WWW_SRC    := scripts/fetch-docs-assets.sh docs/openapi.json frontend/www/swagger.html \
              frontend/www/swagger-init.js frontend/www/redoc.html \
              $(addprefix frontend/www/,index.html app.js style.css favicon.svg)

all: $(WWW)/.stamp
$(WWW)/.stamp: $(WWW_SRC)
	@sh scripts/fetch-docs-assets.sh $(WWW) $(DOCS_CACHE)
