package postgres

// UniqueMessages exposes the constraint messages to the external tests.
var UniqueMessages = uniqueMessages
