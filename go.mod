module bulwark

go 1.26.8

require (
	github.com/owenrumney/go-sarif/v2 v2.3.3
	golang.org/x/crypto v0.59.0
	golang.org/x/net v0.62.0
)

require golang.org/x/text v0.44.0 // indirect
