# install-lock.sh (sourced): FG_INSTALL_LOCK, the lock file that runs installing the extension into one
# PostgreSQL installation take turns on (make check, make demo, make bench). One lock per installation,
# named after its share directory, so runs against two installations (a relocated copy of the server,
# as test/valgrind/run.sh makes) do not wait for each other. Needs PG_CONFIG set.
FG_INSTALL_LOCK=/tmp/faregate-check$(printf '%s' "$("$PG_CONFIG" --sharedir)" | tr -c 'A-Za-z0-9\n' '_').lock
