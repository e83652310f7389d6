using System.Numerics;

namespace CacheFlow.Local;

/// <summary>
/// How often each key was asked for lately, approximately: a count-min sketch of 4-bit counters (TinyLFU's idea),
/// every count halved once the sketch has seen ten reads per entry the L1 can hold, so old popularity fades. A key's
/// four counters sit in one block of four longs (one or two cache lines), each in a long of its own.
/// </summary>
/// <remarks>
/// Updated without locks or atomics: two reads that race may lose an increment, which only makes an estimate a little
/// low. An estimate is never used for correctness, only to decide whether a copy is worth its room in the L1.
/// </remarks>
internal sealed class FrequencySketch
{
    private const long HalfMask = 0x7777_7777_7777_7777L;
    private const int Counters = 4;
    private const int MaxBlocks = 1 << 18;

    private readonly long[] _table;
    private readonly int _blockMask;
    private readonly int _sampleSize;
    private int _reads;

    /// <param name="capacity">How many entries the L1 holds at most: the sketch keeps about 16 counters per entry (at most 8 MB).</param>
    public FrequencySketch(int capacity)
    {
        var blocks = (int)Math.Min(MaxBlocks, BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, capacity / 4)));
        _table = new long[blocks * Counters];
        _blockMask = blocks - 1;
        _sampleSize = (int)Math.Min(int.MaxValue / 2, 10L * capacity);
    }

    /// <summary>Counts one read of a key (by its hash); after every sample, halves every count.</summary>
    public void Increment(ulong hash)
    {
        var block = Block(hash);
        for (var i = 0; i < Counters; i++)
        {
            var shift = Shift(hash, i);
            ref var slot = ref _table[block + i];
            if (((slot >> shift) & 0xF) < 0xF)
                slot += 1L << shift;
        }

        if (++_reads >= _sampleSize)
            Halve();
    }

    /// <summary>About how many times a key (by its hash) was read lately, up to 15 (collisions only ever add).</summary>
    public int Estimate(ulong hash)
    {
        var block = Block(hash);
        var least = 0xF;
        for (var i = 0; i < Counters; i++)
            least = Math.Min(least, (int)((_table[block + i] >> Shift(hash, i)) & 0xF));

        return least;
    }

    private int Block(ulong hash) => (int)(hash & (uint)_blockMask) * Counters;

    /// <summary>Which of the 16 counters in its long the key's <paramref name="row"/>-th counter is (other bits of the hash than the block's).</summary>
    private static int Shift(ulong hash, int row) => (int)((hash >> (32 + (row * 4))) & 0xF) * 4;

    private void Halve()
    {
        _reads = 0;
        for (var i = 0; i < _table.Length; i++)
            _table[i] = (_table[i] >> 1) & HalfMask;
    }
}
