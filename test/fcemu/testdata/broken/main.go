// Command broken does not compile on purpose: the fcemu tests use it to check
// that Build reports compiler errors.
package main

var answer int = "forty-two"

func main() { _ = answer }
