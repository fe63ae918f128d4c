package audit

// LiveFacts are what --live observed about the running deployment.
type LiveFacts struct {
}

func liveTrustedSource(t *Target, lf *LiveFacts) Result   { return skip("live check not implemented") }
func liveNonRoot(t *Target, lf *LiveFacts) Result         { return skip("live check not implemented") }
func liveChroot(t *Target, lf *LiveFacts) Result          { return skip("live check not implemented") }
func liveWildcardBinds(t *Target, lf *LiveFacts) Result   { return skip("live check not implemented") }
func liveTLSProtocols(t *Target, lf *LiveFacts) Result    { return skip("live check not implemented") }
func liveSecurityHeaders(t *Target, lf *LiveFacts) Result { return skip("live check not implemented") }
func liveTraceDenied(t *Target, lf *LiveFacts) Result     { return skip("live check not implemented") }
func liveStats(t *Target, lf *LiveFacts) Result           { return skip("live check not implemented") }
