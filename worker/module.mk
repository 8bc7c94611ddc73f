# worker/ build fragment, included by the top Makefile.
