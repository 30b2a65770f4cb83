module gomemdoctor/testprograms/pkgfixture

go 1.19
