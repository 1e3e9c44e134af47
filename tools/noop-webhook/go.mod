module modelgate.dev/tools/noop-webhook

go 1.26
