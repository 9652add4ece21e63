namespace Gatehouse.Proxy; internal static class Placeholder { }
