package stick

import "testing"

type frqOp struct {
	at   uint32
	inc  uint32 // 0: a read
	want uint32 // expected Read for reads
}

// The expected values below were computed by hand from HAProxy's
// update_freq_ctr_period / freq_ctr_total, P = 10000 ms unless noted.
func TestFreqCtrReadings(t *testing.T) {
	const P = 10000
	tests := []struct {
		name   string
		period uint32
		ops    []frqOp
	}{
		{"empty", P, []frqOp{{at: 5000, want: 0}, {at: 123456, want: 0}}},
		{"first event starts a period at now", P, []frqOp{
			{at: 100000, inc: 1}, {at: 100000, want: 1}, {at: 109999, want: 1},
		}},
		{"current period only", P, []frqOp{
			{at: 100000, inc: 5}, {at: 105000, want: 5},
		}},
		{"previous period weighted by remaining fraction", P, []frqOp{
			{at: 100000, inc: 5},
			{at: 110000, inc: 1},  // rotation: prev=5 curr=1 tick=110000
			{at: 112500, want: 4}, // (5*7500 + 1*10000)/10000 = 4.75
			{at: 119999, want: 1}, // (5*1 + 10000)/10000
			{at: 120000, want: 1}, // remain 0: only curr
			{at: 120001, want: 1}, // period over: past=1 curr=0, flapping correction
			{at: 125000, want: 1}, // still flapping-corrected
			{at: 130000, want: 1}, // remain+P == 0 is still >= 0: past kept
			{at: 130001, want: 0}, // two periods elapsed
		}},
		{"elapsed period read without correction when past > 1", P, []frqOp{
			{at: 100000, inc: 3},
			{at: 110001, want: 2}, // remain=-1+P=9999: 3*9999/10000 = 2
			{at: 115000, want: 1}, // 3*5000/10000
			{at: 119000, want: 0}, // 3*1000/10000
		}},
		{"odd tick rounded down to even on rotation", P, []frqOp{
			{at: 100001, inc: 1}, // tick = 100000, not 100001
			{at: 110000, want: 1},
			{at: 110000, inc: 1},  // now-tick == P: rotates (would not at tick 100001)
			{at: 110000, want: 2}, // 1*10000 + 1*10000
			{at: 115000, want: 1}, // (1*5000 + 1*10000)/10000
		}},
		{"two missed periods reset prev", P, []frqOp{
			{at: 100000, inc: 5},
			{at: 125001, inc: 1}, // tick -> 110000 then reset to 125000, prev=0
			{at: 125001, want: 1},
			{at: 134999, want: 1},
		}},
		{"steady 10 per second over 1s", 1000, []frqOp{
			{at: 1000, inc: 10}, {at: 2000, inc: 10}, {at: 2500, want: 15}, {at: 2999, want: 10},
		}},
		{"tick wraps around 2^32", P, []frqOp{
			{at: 4294967000, inc: 1},
			{at: 9704, inc: 1},   // 4294967000+10000 mod 2^32: rotation, prev=1
			{at: 14704, want: 1}, // (1*5000 + 1*10000)/10000
			{at: 9704, want: 2},  // (1*10000 + 1*10000)/10000
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f FreqCtr
			for i, op := range tc.ops {
				if op.inc > 0 {
					f.Update(op.at, tc.period, op.inc)
					continue
				}
				if got := f.Read(op.at, tc.period); got != op.want {
					t.Fatalf("op %d: Read(%d) = %d, want %d (ctr %+v)", i, op.at, got, op.want, f)
				}
			}
		})
	}
}

func TestFreqCtrUpdateState(t *testing.T) {
	var f FreqCtr
	f.Update(100001, 10000, 2)
	if f != (FreqCtr{CurrTick: 100000, CurrCtr: 2}) {
		t.Fatalf("after first update: %+v", f)
	}
	f.Update(109999, 10000, 1)
	if f != (FreqCtr{CurrTick: 100000, CurrCtr: 3}) {
		t.Fatalf("same period: %+v", f)
	}
	f.Update(115000, 10000, 4)
	if f != (FreqCtr{CurrTick: 110000, CurrCtr: 4, PrevCtr: 3}) {
		t.Fatalf("rotation: %+v", f)
	}
	f.Update(140001, 10000, 1)
	if f != (FreqCtr{CurrTick: 140000, CurrCtr: 1, PrevCtr: 0}) {
		t.Fatalf("missed periods: %+v", f)
	}
}

func TestFreqCtrRemain(t *testing.T) {
	const P = 10000
	tests := []struct {
		name           string
		events         []frqOp
		at, freq, pend uint32
		wantRemain     uint32
		wantRead       uint32
	}{
		{"below limit", []frqOp{{at: 100000, inc: 5}}, 105000, 10, 0, 5, 5},
		{"pending counts", []frqOp{{at: 100000, inc: 5}}, 105000, 10, 1, 4, 5},
		{"over limit clamps to 0", []frqOp{{at: 100000, inc: 15}}, 105000, 10, 0, 0, 15},
		// One event in the elapsed period: Read applies the flapping
		// correction and says 1, Remain does not: 1*7500/10000 = 0.
		{"no flapping correction", []frqOp{{at: 100000, inc: 1}}, 112500, 10, 0, 10, 1},
		{"weighted past", []frqOp{{at: 100000, inc: 8}, {at: 110000, inc: 2}}, 115000, 10, 0, 4, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f FreqCtr
			for _, e := range tc.events {
				f.Update(e.at, P, e.inc)
			}
			if got := f.Remain(tc.at, P, tc.freq, tc.pend); got != tc.wantRemain {
				t.Errorf("Remain = %d, want %d", got, tc.wantRemain)
			}
			if got := f.Read(tc.at, P); got != tc.wantRead {
				t.Errorf("Read = %d, want %d", got, tc.wantRead)
			}
		})
	}
}
