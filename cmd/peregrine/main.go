// Command peregrine runs the Peregrine server and its operator commands.
package main

import (
	"os"
	_ "time/tzdata" // time zones for people's times, also where the system has none
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}
