module memsick

go 1.19
