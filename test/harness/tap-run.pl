#!/usr/bin/perl
# tap-run.pl: runs TAP test files one after the other with TAP::Parser (the engine of prove and pg_prove)
# and counts what each really did, for test/run-suites.sh. It prints every line a test prints, then per
# file one verdict line, then machine-readable lines the caller adds up:
#   tap-run-count: PASSED FAILED SKIPPED
#   tap-run-skip: FILE: REASON          (one per skipped test, or one for a whole file's "1..0 # SKIP")
# Counting rules (test/README.md): a test is passed only when "ok" without a SKIP directive (TODO tests
# count as passed when ok and are not failures when not ok, as in TAP); every test a plan promised but the
# file never reported counts as failed; a file that exits non-zero, dies on a signal, has no plan, breaks
# the TAP grammar or bails out without a failure to show for it counts one more failure; a file that
# prints no test at all (and no "1..0 # SKIP reason") fails.
# usage: tap-run.pl [--pgtap HOST PORT USER DBNAME] FILE...   (--pgtap: the files are pgTAP .sql files,
# run through psql as pg_prove does; otherwise each file is an executable)
use strict;
use warnings;
use TAP::Parser;
use Time::HiRes qw(time);

$| = 1;
my %pgtap;
if (@ARGV && $ARGV[0] eq '--pgtap') {
    shift @ARGV;
    @pgtap{qw(host port username dbname)} = splice(@ARGV, 0, 4);
}
my ($total_passed, $total_failed, $total_skipped) = (0, 0, 0);
my @skips;

for my $file (@ARGV) {
    my $started = time;
    my %args = (merge => 1);
    if (%pgtap) {
        %args = (%args, source => $file, sources => { pgTAP => { %pgtap, suffix => '.sql' } });
    } else {
        %args = (%args, exec => [$file]);
    }
    print "=== $file\n";
    my $parser = eval { TAP::Parser->new(\%args) };
    if (!$parser) {
        (my $error = $@) =~ s/\s+$//;
        print "$file: FAILED: 0 passed, 1 failed, 0 skipped; could not run: $error\n";
        $total_failed++;
        next;
    }
    my ($passed, $failed, $skipped, $bailed) = (0, 0, 0, '');
    my @why;    # failures that are not "not ok" lines
    while (my $result = $parser->next) {
        print $result->raw, "\n";
        if ($result->is_test) {
            if ($result->has_skip) {
                $skipped++;
                push @skips, "$file: " . ($result->explanation ne '' ? $result->explanation : 'no reason given');
            } elsif ($result->is_ok) {    # is_ok is true for a "not ok # TODO" as well
                $passed++;
            } else {
                $failed++;
            }
        } elsif ($result->is_bailout) {
            $bailed = $result->explanation;
        }
    }
    my $planned = $parser->tests_planned;
    my $run = $parser->tests_run;
    if ($parser->skip_all) {
        $skipped++;
        push @skips, "$file: " . ($parser->skip_all ne '1' ? $parser->skip_all : 'no reason given');
    } elsif (defined $planned && $planned > $run) {
        my $missing = $planned - $run;
        $failed += $missing;
        push @why, "planned $planned tests, reported $run: $missing counted as failed";
    }
    if (defined $planned && $run > $planned) {    # the tests beyond the plan are failed test lines
        push @why, "planned $planned tests, reported $run";
    }
    my $extra = 0;    # one failure for a broken run that no test line shows
    if ($run == 0 && !$parser->skip_all) {
        push @why, "no test ran";
        $extra = 1;
    }
    if ($bailed ne '') {
        push @why, "bailed out: $bailed";
        $extra = 1;
    }
    if (!defined $planned) {
        push @why, "no plan (1..N) printed";
        $extra = 1;
    }
    for my $error ($parser->parse_errors) {
        next if $error =~ /^(Bad plan|No plan found)/;    # counted above or below
        push @why, "TAP error: $error";
        $extra = 1;
    }
    if ($parser->wait != 0) {
        my $status = $parser->wait & 127 ? 'died on signal ' . ($parser->wait & 127) : 'exited ' . $parser->exit;
        push @why, $status;
        $extra = 1 if $failed == 0;
    }
    $failed += $extra;
    printf "%s: %s%d passed, %d failed, %d skipped (%.1f s)%s\n", $file, $failed ? 'FAILED: ' : '',
        $passed, $failed, $skipped, time - $started, @why ? '; ' . join('; ', @why) : '';
    $total_passed += $passed;
    $total_failed += $failed;
    $total_skipped += $skipped;
}
print "tap-run-skip: $_\n" for @skips;
print "tap-run-count: $total_passed $total_failed $total_skipped\n";
