package e2e

// codecToken authenticates the e2e codec server.
const codecToken = "e2e-codec-token"
