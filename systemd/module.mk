# Installation of the units, the service user, the docs site and the
# operations guide, included by the top Makefile; `make install` runs it
# after installing binaries and weights. Every path honours PREFIX and
# DESTDIR; the units get the installed paths substituted in.
BINDIR      ?= $(PREFIX)/bin
DATADIR     ?= $(PREFIX)/share/mnist
DOCDIR      ?= $(PREFIX)/share/doc/mnist
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
UNITS       := mnist.target mnist-frontend.service mnist-worker@.service

.PHONY: install-www install-units
install: install-www install-units

install-www: $(WWW)/.stamp
	rm -rf $(DESTDIR)$(DATADIR)/www
	install -d $(DESTDIR)$(DATADIR)/www
	for f in $$(cd $(WWW) && find . -type f ! -name '.*'); do \
	    install -D -m 644 "$(WWW)/$$f" "$(DESTDIR)$(DATADIR)/www/$$f" || exit 1; done

install-units:
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)
	for u in $(UNITS); do \
	    sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DATADIR@|$(DATADIR)|g' \
	        -e 's|@DOCDIR@|$(DOCDIR)|g' systemd/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 644 systemd/mnist.sysusers $(DESTDIR)$(SYSUSERSDIR)/mnist.conf
	install -m 644 docs/operations.md $(DESTDIR)$(DOCDIR)/operations.md
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers $(SYSUSERSDIR)/mnist.conf; \
	    echo "install: now run 'systemctl daemon-reload && systemctl enable --now mnist.target'"; fi

# Just the programs (no tests, no docs site): what the Docker build compiles.
.PHONY: bins
bins: $(BINS)
