import Cluster

func registerDriverChecks(_ suite: inout CheckSuite) throws {}
