using Microsoft.Extensions.Options;

namespace CacheFlow.Validation;

// Source-generated from the options' validation attributes: no reflection, so validation is trimming- and AOT-safe.

/// <summary>Validates <see cref="CacheFlowOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class CacheFlowOptionsValidator : IValidateOptions<CacheFlowOptions>;
