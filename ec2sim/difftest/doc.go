// Package difftest holds black-box tests of the local EC2 endpoint (ec2sim).
//
// The differential test runs one scenario of EC2 security-group calls through
// aws-sdk-go-v2 against ec2sim and against moto_server, and requires the two
// to agree step by step, except where moto is known to depart from EC2; at
// those steps ec2sim must give EC2's documented answer. A second test runs the
// seed lab's AWS CLI commands unchanged against ec2sim.
//
// The package has no code of its own; everything lives in _test.go files.
package difftest
