module bulwark

go 1.26.8

require (
	github.com/owenrumney/go-sarif/v2 v2.3.3 // indirect
	golang.org/x/crypto v0.59.0 // indirect
)
