module bulwark

go 1.26.8
