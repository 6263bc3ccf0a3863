module github.com/cinit/cinit

go 1.26.0

require (
	github.com/fatih/color v1.19.0
	github.com/joho/godotenv v1.5.1
	github.com/spf13/pflag v1.1.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
)
