"""The build: from a data file to a book in OUT. Nothing outside this package (but the
command line) imports it."""
