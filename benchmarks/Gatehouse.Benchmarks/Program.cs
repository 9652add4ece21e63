using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/Gatehouse.Benchmarks -- --filter '*' [--job short]
// Results and method: docs/performance.md.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
