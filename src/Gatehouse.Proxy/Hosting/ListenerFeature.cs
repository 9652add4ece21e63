using Gatehouse.Configuration;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Proxy.Hosting;

/// <summary>Tags each connection with the listener that accepted it, so one Kestrel server serves every mode.</summary>
internal static class ListenerTag
{
    internal const string Key = "gatehouse.listener";

    public static ListenerConfig? Get(HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        return items is not null && items.TryGetValue(Key, out var value) ? value as ListenerConfig : null;
    }
}
