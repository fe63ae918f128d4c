package srvstate

// CheckStatus is a check's outcome with HAProxy 2.6's numbering (the
// number is "show servers state" srv_check_status; the name is the stats
// check_status column).
type CheckStatus uint8

const (
	CheckUnknown CheckStatus = 0
	CheckIni     CheckStatus = 1 // no check has finished yet
	CheckChecked CheckStatus = 3 // an agent said nothing that changes the state
	CheckHANA    CheckStatus = 4 // passive health analysis
	CheckSockErr CheckStatus = 5
	CheckL4OK    CheckStatus = 6
	CheckL4TOUT  CheckStatus = 7
	CheckL4CON   CheckStatus = 8
	CheckL6OK    CheckStatus = 9
	CheckL6TOUT  CheckStatus = 10
	CheckL6RSP   CheckStatus = 11
	CheckL7TOUT  CheckStatus = 12
	CheckL7RSP   CheckStatus = 13
	CheckL7OK    CheckStatus = 15
	CheckL7OKC   CheckStatus = 16 // conditionally passed: NOLB
	CheckL7STS   CheckStatus = 17
)

// Result is HAProxy's check result ("show servers state"
// srv_check_result).
type Result uint8

const (
	ResultUnknown  Result = 0
	ResultNeutral  Result = 1
	ResultFailed   Result = 2
	ResultPassed   Result = 3
	ResultCondPass Result = 4
)

type statusInfo struct {
	name, desc string
	result     Result
}

// info describes a status; a switch rather than a table keeps the package
// free of mutable variables.
func (c CheckStatus) info() (statusInfo, bool) {
	switch c {
	case CheckUnknown:
		return statusInfo{"UNK", "Unknown", ResultUnknown}, true
	case CheckIni:
		return statusInfo{"INI", "Initializing", ResultUnknown}, true
	case CheckChecked:
		return statusInfo{"CHECKED", "No status change", ResultNeutral}, true
	case CheckHANA:
		return statusInfo{"HANA", "Health analyze", ResultFailed}, true
	case CheckSockErr:
		return statusInfo{"SOCKERR", "Socket error", ResultFailed}, true
	case CheckL4OK:
		return statusInfo{"L4OK", "Layer4 check passed", ResultPassed}, true
	case CheckL4TOUT:
		return statusInfo{"L4TOUT", "Layer4 timeout", ResultFailed}, true
	case CheckL4CON:
		return statusInfo{"L4CON", "Layer4 connection problem", ResultFailed}, true
	case CheckL6OK:
		return statusInfo{"L6OK", "Layer6 check passed", ResultPassed}, true
	case CheckL6TOUT:
		return statusInfo{"L6TOUT", "Layer6 timeout", ResultFailed}, true
	case CheckL6RSP:
		return statusInfo{"L6RSP", "Layer6 invalid response", ResultFailed}, true
	case CheckL7TOUT:
		return statusInfo{"L7TOUT", "Layer7 timeout", ResultFailed}, true
	case CheckL7RSP:
		return statusInfo{"L7RSP", "Layer7 invalid response", ResultFailed}, true
	case CheckL7OK:
		return statusInfo{"L7OK", "Layer7 check passed", ResultPassed}, true
	case CheckL7OKC:
		return statusInfo{"L7OKC", "Layer7 check conditionally passed", ResultCondPass}, true
	case CheckL7STS:
		return statusInfo{"L7STS", "Layer7 wrong status", ResultFailed}, true
	}
	return statusInfo{}, false
}

// String is the check_status name ("L4OK").
func (c CheckStatus) String() string {
	if i, ok := c.info(); ok {
		return i.name
	}
	return "UNK"
}

// Desc is the check_desc text ("Layer4 check passed").
func (c CheckStatus) Desc() string {
	if i, ok := c.info(); ok {
		return i.desc
	}
	return "Unknown"
}

// Result tells whether the status counts as a success or a failure.
func (c CheckStatus) Result() Result {
	i, _ := c.info()
	return i.result
}

// HasCode reports a status that carries a layer 7 code (the stats show
// check_code only for these).
func (c CheckStatus) HasCode() bool { return c >= CheckL7OK && c <= CheckL7STS }

// Finished reports a status of a check that ran (the stats show
// check_duration only for these).
func (c CheckStatus) Finished() bool { return c >= CheckHANA }
