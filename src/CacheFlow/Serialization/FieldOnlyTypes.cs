using System.Collections;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace CacheFlow.Serialization;

/// <summary>
/// Whether a type carries its data in public fields only (a value tuple, a struct of fields), itself or anywhere
/// inside it (a property, an element of a collection): System.Text.Json ignores fields unless told otherwise, so such a
/// value would come back from the L2 empty. The HybridCache API serializes those types with fields included, as
/// Microsoft's HybridCache does; a type with properties keeps System.Text.Json's own rule (its fields are left out).
/// </summary>
internal static class FieldOnlyTypes
{
    private static readonly ConcurrentDictionary<Type, bool> Known = new();

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Only decides which JSON options to use; a trimmed member is one JSON would not see either.")]
    public static bool Contains(Type type) => Known.GetOrAdd(type, static t => Check(t, []));

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "As above.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above.")]
    private static bool Check(Type type, HashSet<Type> seen)
    {
        if (type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || !seen.Add(type))
            return false;
        if (Nullable.GetUnderlyingType(type) is { } underlying)
            return Check(underlying, seen);
        if (typeof(IEnumerable).IsAssignableFrom(type))
        {
            return type.GetInterfaces().Append(type)
                .Where(static i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
                .Any(i => Check(i.GetGenericArguments()[0], seen));
        }

        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance);
        return properties.Length > 0
            ? properties.Any(p => Check(p.PropertyType, seen))
            : type.GetFields(BindingFlags.Public | BindingFlags.Instance).Length > 0;
    }
}
