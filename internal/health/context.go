package health

// Context is what the log-format strings and sample expressions of one
// check run see: the "check" variables, set and unset by the script's
// variable rules and forgotten when the run ends, and what the server
// answered last. It belongs to one run; nothing else touches it.
type Context struct {
	// Vars holds the variables by full name ("check.path"); the values
	// are the evaluator's own (the plan stores acl samples).
	Vars map[string]any
	// Headers and Status are those of the last HTTP response, nil and 0
	// before one.
	Headers [][2]string
	Status  int
	// Body is the last HTTP response's body (res.body), nil before one.
	Body []byte
	// Payload is what the current connection sent since the last send.
	Payload []byte
	// Server and Backend name the checked server.
	Server, Backend string
}

// Dyn is a value computed when a rule runs: a compiled log-format string
// rendered against the run's Context.
type Dyn func(c *Context) string

// Do is a variable rule (set-var, unset-var) run against the Context.
type Do func(c *Context)
