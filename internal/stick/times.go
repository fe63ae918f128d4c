package stick

// Times returns, for the entry r designates, the milliseconds left before
// it expires and those since it was last touched (the table_expire and
// table_idle converters). Both are 0 in a table without "expire", whose
// entries never age. ok is false when the entry is gone.
func (r Ref) Times(now int64) (expireIn, idle int64, ok bool) {
	if _, ok := r.lock(); !ok {
		return 0, 0, false
	}
	defer r.unlock()
	exp := r.t.spec.Expire
	if exp == 0 {
		return 0, 0, true
	}
	left := int64(int32(r.sh.meta[r.idx].exp - uint32(now)))
	if left < 0 {
		left = 0
	}
	if left > int64(exp) {
		left = int64(exp)
	}
	return left, int64(exp) - left, true
}
