using BenchmarkDotNet.Running;

// Run one or more benchmarks: dotnet run -c Release --project benchmarks/Gatehouse.Benchmarks -- --filter '*Token*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
