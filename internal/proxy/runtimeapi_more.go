package proxy

// moreCommands are the runtime API commands beyond the first set.
func moreCommands() []apiCommand {
	return []apiCommand{}
}
