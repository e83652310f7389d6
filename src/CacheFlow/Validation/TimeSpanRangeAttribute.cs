using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace CacheFlow.Validation;

/// <summary>
/// A <see cref="TimeSpan"/> option between two bounds (inclusive), written as <c>[d.]hh:mm:ss[.fff]</c>. It stands in for
/// <c>[Range(typeof(TimeSpan), …)]</c>, whose constructor needs unreferenced code (a type converter found at run time),
/// so that option validation stays trimming- and AOT-safe, whether done by the source-generated validators or by
/// <c>ValidateDataAnnotations</c>.
/// </summary>
[AttributeUsage(AttributeTargets.Property, AllowMultiple = false)]
internal sealed class TimeSpanRangeAttribute : ValidationAttribute
{
    public TimeSpanRangeAttribute(string minimum, string maximum)
        : base("The field {0} must be between {1} and {2}.")
    {
        Minimum = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);
        Maximum = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);
    }

    public TimeSpan Minimum { get; }

    public TimeSpan Maximum { get; }

    public override bool IsValid(object? value) => value is not TimeSpan time || (time >= Minimum && time <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, Minimum.ToString("c", CultureInfo.InvariantCulture), Maximum.ToString("c", CultureInfo.InvariantCulture));
}
