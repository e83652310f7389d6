using System.Runtime.InteropServices;
using System.Text;

namespace CacheFlow.Api.Users;

/// <summary>
/// Whether a domain label mixes scripts, by ICU's spoof checker (UTS 39, restriction level "highly restrictive"), the
/// check Chromium applies before it shows a label in Unicode: one script (characters common to all, such as digits
/// and '-', go with any), or Latin with Han, Hiragana and Katakana, with Han and Bopomofo, or with Han and Hangul; no
/// invisible characters; digits of one system. <c>exаmple</c> with a Cyrillic <c>а</c> mixes; <c>bücher</c> does not.
/// ICU is the library .NET already uses for globalization here (the API needs it for NFC); this reaches the same
/// library for the one check .NET does not expose. Where it cannot be loaded, every label outside ASCII counts as
/// mixed: refused, not let through unchecked.
/// </summary>
internal static class ScriptMixing
{
    // uspoof.h
    private const int RestrictionLevelCheck = 16, InvisibleCheck = 32, MixedNumbersCheck = 128;
    private const int HighlyRestrictive = 0x30000000;

    private static readonly Lazy<Checker?> Icu = new(Checker.Open);

    /// <summary>Whether ICU's checker is at hand (if not, only ASCII labels pass).</summary>
    public static bool Available => Icu.Value is not null;

    /// <summary>Whether <paramref name="label"/> (one label of a domain, in Unicode) mixes scripts or hides characters.</summary>
    public static bool IsMixed(string label) => !Ascii.IsValid(label) && Icu.Value?.Fails(label) != false;

    private delegate nint OpenFunction(ref int status);

    private delegate void SetChecksFunction(nint checker, int checks, ref int status);

    private delegate void SetRestrictionLevelFunction(nint checker, int level);

    private delegate int CheckFunction(nint checker, [MarshalAs(UnmanagedType.LPWStr)] string id, int length, nint result, ref int status);

    /// <summary>One configured checker for the process: ICU's check functions are thread-safe once it is set up.</summary>
    private sealed class Checker(nint handle, CheckFunction check)
    {
        public bool Fails(string label)
        {
            var status = 0;
            var failed = check(handle, label, label.Length, 0, ref status);
            return status > 0 || failed != 0;
        }

        public static Checker? Open()
        {
            foreach (var (library, suffix) in Candidates())
            {
                if (!NativeLibrary.TryLoad(library, out var icu))
                    continue;
                if (!NativeLibrary.TryGetExport(icu, "uspoof_open" + suffix, out var open)
                    || !NativeLibrary.TryGetExport(icu, "uspoof_setChecks" + suffix, out var setChecks)
                    || !NativeLibrary.TryGetExport(icu, "uspoof_setRestrictionLevel" + suffix, out var setLevel)
                    || !NativeLibrary.TryGetExport(icu, "uspoof_check2" + suffix, out var check))
                {
                    continue;
                }

                var status = 0;
                var handle = Marshal.GetDelegateForFunctionPointer<OpenFunction>(open)(ref status);
                if (status > 0 || handle == 0)
                    continue;
                Marshal.GetDelegateForFunctionPointer<SetChecksFunction>(setChecks)(handle, RestrictionLevelCheck | InvisibleCheck | MixedNumbersCheck, ref status);
                Marshal.GetDelegateForFunctionPointer<SetRestrictionLevelFunction>(setLevel)(handle, HighlyRestrictive);
                if (status <= 0)
                    return new Checker(handle, Marshal.GetDelegateForFunctionPointer<CheckFunction>(check));
            }

            return null;
        }

        /// <summary>
        /// Where ICU's i18n library is, and the suffix of its symbols: Linux distributions ship it versioned
        /// (<c>libicui18n.so.72</c>, <c>uspoof_open_72</c>), as .NET itself finds it; Windows and macOS unversioned.
        /// </summary>
        private static IEnumerable<(string Library, string Suffix)> Candidates()
        {
            if (OperatingSystem.IsWindows())
            {
                yield return ("icu.dll", "");
                yield break;
            }

            if (OperatingSystem.IsMacOS())
            {
                yield return ("libicucore.dylib", "");
                yield break;
            }

            for (var version = 99; version >= 50; version--)
                yield return ($"libicui18n.so.{version}", $"_{version}");
            yield return ("libicui18n.so", "");
        }
    }
}
