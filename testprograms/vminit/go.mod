module vminit

go 1.26
