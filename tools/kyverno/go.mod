module modelgate.dev/tools/kyverno

go 1.26

require github.com/kyverno/kyverno v1.19.1
