#!/usr/bin/perl
# cron_diff.pl - the reference side of the cron differential test
# (tests/e2e/t1200-cron.sh): generate random 5-field cron expressions with a
# fixed seed, compute their next fire times with DateTime::Event::Cron (an
# independent implementation, Debian's libdatetime-event-cron-perl), in UTC.
#
#   cron_diff.pl SEED COUNT NEXT OUTDIR
#
# writes OUTDIR/input.txt     "EPOCH NEXT EXPR" for tests/conformance/cron_next.c
#        OUTDIR/expected.txt  NEXT epoch seconds per line, or "error"
#        OUTDIR/perl-expr.txt the numeric expression Perl was given
#
# The expression our parser gets is the same schedule written differently
# (month and weekday names in random case, 0 or SUN for Sunday).  Both
# sides read day-of-month/day-of-week the same way only when neither field
# is a stepped star or covers its whole range; the generator avoids those,
# and lists whose items overlap (DateTime::Event::Cron mishandles them).
use strict;
use warnings;
use DateTime;
use DateTime::Event::Cron;

my ($seed, $count, $next, $out) = @ARGV;
die "usage: $0 SEED COUNT NEXT OUTDIR\n" unless defined $out;
srand($seed);

my @MON = qw(JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC);
my @DOW = qw(SUN MON TUE WED THU FRI SAT SUN);
my @FIELDS = ([0, 59], [0, 23], [1, 31], [1, 12], [1, 7]);

sub rint { my ($lo, $hi) = @_; return $lo + int(rand($hi - $lo + 1)); }

sub rcase {
	my $s = shift;
	my $r = rand();
	return $r < 0.4 ? $s : $r < 0.7 ? lc($s) : ucfirst(lc($s));
}

# Our spelling of value $v in field $f.
sub ours {
	my ($f, $v, $single) = @_;
	if ($f == 3 && rand() < 0.5) { return rcase($MON[$v - 1]); }
	if ($f == 4) {
		return rcase($DOW[$v]) if rand() < 0.5;
		return 0 if $v == 7 && $single && rand() < 0.5;
	}
	return $v;
}

sub expand { # the set a field denotes, as a hash; undef if items overlap
	my ($f, $items) = @_;
	my %set;
	for my $it (@$items) {
		my ($a, $b, $s) = @$it;
		for (my $v = $a; $v <= $b; $v += $s) {
			return undef if $set{$v}++;
		}
	}
	return \%set;
}

sub gen_field {
	my $f = shift;
	my ($lo, $hi) = @{$FIELDS[$f]};
	while (1) {
		if (rand() < 0.25) { return ('*', '*'); }
		my (@p, @o, @items);
		my $n = rint(1, 3);
		for (1 .. $n) {
			my $kind = rand();
			if ($kind < 0.45) {
				my $v = rint($lo, $hi);
				push @items, [$v, $v, 1];
				push @p, $v;
				push @o, ours($f, $v, 1);
			} elsif ($kind < 0.75) {
				my $a = rint($lo, $hi - 1);
				my $b = rint($a + 1, $hi);
				push @items, [$a, $b, 1];
				push @p, "$a-$b";
				push @o, ours($f, $a, 0) . '-' . ours($f, $b, 0);
			} elsif ($kind < 0.9 || $f == 2 || $f == 4) {
				my $a = rint($lo, $hi - 1);
				my $b = rint($a + 1, $hi);
				my $s = rint(2, 1 + int(($hi - $lo) / 2));
				push @items, [$a, $b, $s];
				push @p, "$a-$b/$s";
				push @o, "$a-$b/$s";
			} else {
				my $s = rint(2, 1 + int(($hi - $lo) / 2));
				push @items, [$lo, $hi, $s];
				push @p, "*/$s";
				push @o, "*/$s";
			}
		}
		my $set = expand($f, \@items);
		# Set::Crontab keeps duplicates, and DateTime::Event::Cron's
		# next() then skips ahead: overlapping items are not compared
		next unless $set;
		my $full = scalar(keys %$set) == $hi - $lo + 1;
		next if $full && ($f == 2 || $f == 4); # readings differ, see above
		return (join(',', @p), join(',', @o));
	}
}

open(my $in, '>', "$out/input.txt") or die "$out/input.txt: $!\n";
open(my $exp, '>', "$out/expected.txt") or die "$out/expected.txt: $!\n";
open(my $px, '>', "$out/perl-expr.txt") or die "$out/perl-expr.txt: $!\n";
for my $i (1 .. $count) {
	my (@p, @o);
	for my $f (0 .. 4) {
		my ($pp, $oo) = gen_field($f);
		push @p, $pp;
		push @o, $oo;
	}
	my $pexpr = join(' ', @p);
	my $oexpr = join(' ', @o);
	# 2000-01-01 .. 2040-01-01, half of them on a whole minute
	my $start = rint(946684800, 2208988800);
	$start -= $start % 60 if rand() < 0.5;
	print $in "$start $next $oexpr\n";
	print $px "$pexpr\n";
	my $c = eval { DateTime::Event::Cron->new($pexpr) };
	if (!$c && $@ =~ /Impossible last day/ && $p[4] ne '*') {
		# Vixie: both day fields restricted, either matches; the days of
		# the month never occur, so that is the weekday field alone (Perl
		# refuses the expression instead)
		$c = DateTime::Event::Cron->new(join(' ', @p[0, 1], '*', @p[3, 4]));
	}
	if (!$c) {
		print $exp "error\n";
		next;
	}
	my $dt = DateTime->from_epoch(epoch => $start, time_zone => 'UTC');
	my @times;
	for (1 .. $next) {
		$dt = $c->next($dt);
		push @times, $dt->epoch;
	}
	print $exp join(' ', @times), "\n";
}
close($in) && close($exp) && close($px) or die "write: $!\n";
