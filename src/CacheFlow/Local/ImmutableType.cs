using System.ComponentModel;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace CacheFlow.Local;

/// <summary>
/// Whether instances of <typeparamref name="T"/> may be shared between callers from the L1 (HybridCache's rule):
/// strings, value types that hold no references (each caller gets its own copy anyway), and sealed types marked
/// <c>[ImmutableObject(true)]</c>. Any other type is deserialized afresh for every caller, so that one caller
/// changing what it got cannot change what the next one gets.
/// </summary>
internal static class ImmutableType<T>
{
    public static readonly bool IsShared = Decide(typeof(T));

    private static bool Decide(Type type) =>
        type == typeof(string)
        || (type.IsValueType && !RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        || (type.IsSealed && type.GetCustomAttribute<ImmutableObjectAttribute>() is { Immutable: true });
}
