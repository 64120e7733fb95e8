module github.com/golvs/golvs

go 1.26.8
